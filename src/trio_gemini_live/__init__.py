"""trio-gemini-live: a trio-native client for Google's Gemini Live API."""
