"""How the Zoho families sit on the Singer SDK: the base stream, bookmarks, modules side by side."""
