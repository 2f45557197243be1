"""Offline transcription of interview recordings: plain functions, no Celery.

    audio.py    the chunk convention and assembling a channel into one 16 kHz waveform
    whisper.py  faster-whisper: model resolution (nothing downloaded), decoding options, OOM fallback
    guards.py   dropping hallucinated segments (silence) and repetition loops
    merge.py    both channels into one transcript ordered by time with speaker labels; WER
    qa.py       QA flags on the interview, with the reasons for each threshold
    jobs.py     the job: claim with a lease, transcribe, store once, fail clearly, sweep dead workers
    synthetic.py a known-text two-channel interview synthesised with Piper (tests, benchmarks, pilots)

``voxbank.tasks`` wraps ``jobs.run_transcription`` in a Celery task.
"""
