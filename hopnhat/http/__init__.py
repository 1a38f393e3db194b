"""The HTTP side of hopnhat: webhooks per channel (and, later, the profile API and console)."""
