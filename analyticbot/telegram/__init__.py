"""Telegram sources behind one normalised contract (see `contract`): live telethon, Desktop export, demo."""
