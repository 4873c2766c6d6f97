"""The shop and its products, mirrored from Shopify (Admin API import and `products/*` webhooks)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Shop(Model):
    """The store this workspace serves, as `nurture shopify connect` read it from the Admin API."""

    id = fields.BigIntField(primary_key=True)
    domain = fields.CharField(max_length=255, unique=True)  # acme.myshopify.com
    name = fields.CharField(max_length=255, default="")
    currency = fields.CharField(max_length=8, default="")
    timezone = fields.CharField(max_length=64, default="")  # IANA, e.g. America/Los_Angeles
    # Where customers shop (https://acme-audio.example): product links point here, not at myshopify.com.
    primary_url = fields.CharField(max_length=500, default="")
    scopes: list = fields.JSONField(default=list)
    connected_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "shops"


class Product(Model):
    id = fields.BigIntField(primary_key=True)
    shopify_id = fields.BigIntField(unique=True)
    title = fields.CharField(max_length=300, default="")
    handle = fields.CharField(max_length=300, default="")
    status = fields.CharField(max_length=16, default="active")  # active, draft, archived
    vendor = fields.CharField(max_length=255, default="")
    product_type = fields.CharField(max_length=255, default="")
    image_url = fields.CharField(max_length=1000, default="")
    tags: list = fields.JSONField(default=list)
    collections: list = fields.JSONField(default=list)
    # Shopify's updated_at of the version we hold: an older copy arriving late never overwrites a newer one.
    source_updated_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "products"


class Variant(Model):
    product_id: int
    id = fields.BigIntField(primary_key=True)
    shopify_id = fields.BigIntField(unique=True)
    product: fields.ForeignKeyRelation[Product] = fields.ForeignKeyField(
        "nurture.Product", related_name="variants", on_delete=fields.CASCADE
    )
    title = fields.CharField(max_length=300, default="")  # "Matte Black"; "Default Title" for a single variant
    sku = fields.CharField(max_length=255, default="")
    price = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    compare_at_price = fields.DecimalField(max_digits=14, decimal_places=2, null=True)
    available = fields.BooleanField(default=True)
    image_url = fields.CharField(max_length=1000, default="")
    position = fields.IntField(default=1)

    class Meta:
        table = "variants"
