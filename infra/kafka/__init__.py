"""Kafka adapters: the relay's producer and topic administration."""
