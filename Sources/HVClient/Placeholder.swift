enum PlaceholderHVClient {}
