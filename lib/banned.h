/*
 * banned.h: functions that must not be used in tamis.
 *
 * They either cannot bound their output (strcpy, strcat, sprintf) or
 * silently truncate without NUL-terminating (strncpy).  Use struct tm_buf
 * (buf.h) or snprintf instead.  Included last by every lib/ and cmd/ file
 * through tamis.h, so a use is a compile error, not a review comment.
 */
#ifndef TM_BANNED_H
#define TM_BANNED_H

#define TM_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) TM_BANNED(strcpy)
#undef strcat
#define strcat(x, y) TM_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) TM_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) TM_BANNED(strncat)
#undef sprintf
#define sprintf(...) TM_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) TM_BANNED(vsprintf)
#undef gets
#define gets(x) TM_BANNED(gets)

#endif
