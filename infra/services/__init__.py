"""infra/services"""
