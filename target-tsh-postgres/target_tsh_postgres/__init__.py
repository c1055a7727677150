"""target-tsh-postgres: Zoho products, prices and customers into the TSH ERP's PostgreSQL."""
