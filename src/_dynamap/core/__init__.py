"""The sans-I/O core: flush planning, retry policy, reports. No boto3, no I/O, no clock."""
