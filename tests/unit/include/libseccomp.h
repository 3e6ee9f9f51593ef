/* libseccomp's <seccomp.h>, which the project's src/common/seccomp.h
 * shadows on the include path: this directory comes after src/common, so
 * #include_next finds the library's (policy/gen-filters.py does the same
 * for src/common/seccomp.c). For tests that build filters of their own. */
#pragma once
#pragma GCC system_header
#include_next <seccomp.h>
