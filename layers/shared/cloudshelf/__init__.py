"""CloudShelf shared code: domain, models, repositories, settings and observability."""
