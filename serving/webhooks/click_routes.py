"""Placeholder until the click protocol routes land."""
from fastapi import APIRouter

router = APIRouter()
