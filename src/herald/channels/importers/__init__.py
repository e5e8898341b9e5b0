"""Reading customer lists from files: CSV and XLSX, engineering lists and CRM reports."""
