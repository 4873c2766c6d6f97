"""The Shopify Admin API double lives in the package (the demo uses it too); tests import it from here."""

from nurture.shopify_double import TOKEN, AdminCall, ShopifyAdminDouble

__all__ = ["TOKEN", "AdminCall", "ShopifyAdminDouble"]
