"""polyhunter."""
