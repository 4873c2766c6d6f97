"""The store itself: its shop settings (name, currency, time zone, domain) and its product catalog."""
