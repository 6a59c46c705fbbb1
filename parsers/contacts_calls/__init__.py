"""Contacts and call logs of the phone itself (Android contacts2.db/calllog.db, iOS AddressBook and
CallHistory); contacts kept by chat apps are read by their app family."""
