"""What the deploy does inside the database, as SQL the engine cannot express (no provider reaches into a VPC):

- app_user.py   the workers' own user: made, reset to a plain login, granted its schema's tables and no more
"""
