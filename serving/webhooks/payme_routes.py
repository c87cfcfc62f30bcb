"""Placeholder until the payme protocol routes land."""
from fastapi import APIRouter

router = APIRouter()
