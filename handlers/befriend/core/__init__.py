"""The pure core: values in, values out. No AWS, no Flask, no environment, no clock."""
