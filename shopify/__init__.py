"""Shopify Admin API: the client, connecting a store, importing its history."""
