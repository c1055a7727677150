"""Zoho Books and Inventory: items, contacts and price lists, one partition per organisation."""
