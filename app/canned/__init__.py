"""Canned responses: replies supervisors prepare and agents insert into chats."""
