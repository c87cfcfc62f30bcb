"""Operational-store tables. Keys are Telegram's own ids (user id, bare channel id), so no mapping tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SOURCE_KINDS = ("telethon", "export", "demo")


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                         comment="Telegram user id")
    language: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", comment="IANA zone; numbers are shown in it")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)

    channels: Mapped[list["Channel"]] = relationship(back_populates="owner")


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint("source_kind IN ('telethon', 'export', 'demo')", name="ck_channels_source_kind"),
    )

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                            comment="bare Telegram channel id (PeerChannel.channel_id)")
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="active",
                                        comment="active | private | unreachable, as the last poll found it")
    status_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)

    owner: Mapped[User] = relationship(back_populates="channels")
