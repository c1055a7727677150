"""Bulk Read jobs of CRM modules: create, poll, download, and their CSV rows typed."""
