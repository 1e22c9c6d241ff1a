"""aftersales: after-sales and dispute-resolution engine for online marketplaces."""

__version__ = "0.1.0"
