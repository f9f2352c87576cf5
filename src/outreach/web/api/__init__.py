"""/api/v1: JSON endpoints, one module per area, all behind a bearer token."""
