"""Completing the values a CRM list leaves out, by the cheapest route Zoho documents."""
