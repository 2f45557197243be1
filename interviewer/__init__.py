"""The interviewer: conductor, voice agent, transcription jobs and simulated pilots."""
