"""The GraphQL documents we send to the Admin API (API version pinned in settings: 2025-10).

Each operation is named (`NurtureShop`...): Shopify's logs show the name, and so does our double.
"""

SHOP = """
query NurtureShop {
  shop { name currencyCode ianaTimezone myshopifyDomain primaryDomain { url host } }
  currentAppInstallation { accessScopes { handle } }
}
"""

WEBHOOKS = """
query NurtureWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
"""

WEBHOOK_CREATE = """
mutation NurtureWebhookCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""

BULK_RUN = """
mutation NurtureBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS = """
query NurtureBulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}
"""

# Bulk queries: nested connections (line items, variants, collections) come back as JSONL lines of
# their own, each with the `__parentId` of the object it belongs to.
BULK_CUSTOMERS = """
{ customers { edges { node {
  id legacyResourceId email firstName lastName phone locale tags state createdAt updatedAt
  emailMarketingConsent { marketingState consentUpdatedAt }
  defaultAddress { countryCodeV2 provinceCode }
} } } }
"""

BULK_ORDERS = """
{ orders(query: "%(filter)s") { edges { node {
  id legacyResourceId name email createdAt processedAt updatedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus customerLocale discountCodes
  totalPriceSet { shopMoney { amount currencyCode } }
  customer { id legacyResourceId email firstName lastName }
  shippingAddress { countryCodeV2 provinceCode }
  billingAddress { countryCodeV2 provinceCode firstName lastName }
  refunds { legacyResourceId createdAt totalRefundedSet { shopMoney { amount currencyCode } } }
  lineItems { edges { node {
    id title variantTitle quantity sku
    variant { legacyResourceId } product { legacyResourceId }
    originalUnitPriceSet { shopMoney { amount currencyCode } }
  } } }
} } } }
"""

BULK_PRODUCTS = """
{ products { edges { node {
  id legacyResourceId title handle status vendor productType tags updatedAt
  featuredImage { url }
  variants { edges { node {
    id legacyResourceId title sku price compareAtPrice availableForSale position image { url }
  } } }
  collections { edges { node { id handle } } }
} } } }
"""
