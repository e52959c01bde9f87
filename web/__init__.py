"""The Dutch web pages, served by the same app: works without JavaScript, HTMX enhances."""
