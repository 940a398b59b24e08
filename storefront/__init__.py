"""storefront package."""
