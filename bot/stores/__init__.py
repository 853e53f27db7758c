"""Where conversations live (tracker store) and how replicas take turns on one (lock store)."""
