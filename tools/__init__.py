"""Development tooling kept out of the product package: benchmark, scale profile, evaluation, tuning."""
