"""Adapters of the `ReadStore` port (projections/ports.py).

`infra.readstore.sqlite.SqliteReadStore` for the embedded profile and
`infra.readstore.mongo.MongoReadStore` for the cluster one (pymongo, FerretDB).
Import the one you need: this package imports neither, so the embedded profile
does not need pymongo.
"""
