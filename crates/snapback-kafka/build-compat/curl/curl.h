/*
 * Stand-in for <curl/curl.h>, for building librdkafka (rdkafka-sys, cmake-build) without curl.
 *
 * librdkafka 2.12's cmake build writes `#cmakedefine01 WITH_OAUTHBEARER_OIDC` into config.h, so
 * the macro is always defined (0 or 1), and rdkafka_conf.c includes <curl/curl.h> under
 * `#ifdef WITH_OAUTHBEARER_OIDC` even when curl is off (librdkafka issue #5135). Everything that
 * uses curl is under `#if WITH_CURL` / `#if WITH_OAUTHBEARER_OIDC`, which are 0 here: nothing
 * of curl is declared, used or linked. `.cargo/config.toml` puts this directory on
 * C_INCLUDE_PATH, so a machine without curl's development headers still builds snapback
 * (docs/decisions.md, "Building librdkafka without curl's headers").
 *
 * If anything in this build ever needs the real curl API it fails to compile here, loudly.
 */
#ifndef SNAPBACK_CURL_STAND_IN_H
#define SNAPBACK_CURL_STAND_IN_H
#endif
