"""Parts: each function plays one role (drums, bass, harmony, lead, texture) in one genre's idiom."""
