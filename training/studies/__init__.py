"""Studies (spec x variant x seed as DVC experiments) and their aggregation across seeds."""
