// UTF-8 hygiene for text that goes into JSON: names of files, devices and drivers come from the
// outside and need not be valid UTF-8.
#ifndef PIXLOC_UTF8_H
#define PIXLOC_UTF8_H

// A malloc'd copy of s (NULL: "") in which every byte that does not start or continue a valid
// UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF included) is replaced
// by U+FFFD, one replacement per invalid byte.
char *utf8_sanitize(const char *s);

#endif
