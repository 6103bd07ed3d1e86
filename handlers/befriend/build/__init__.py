"""Building and deploying: the static site, the Lambda package, and publishing the site."""
