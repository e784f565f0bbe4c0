"""HTTP glue shared by the functions: resolver factory, identity, error mapping."""
