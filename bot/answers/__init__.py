"""Answer selection: the dialogue decision over the content store."""
