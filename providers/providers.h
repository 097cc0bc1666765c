/*
 * The registry of provider reconcilers (providers/providers.c). cmd/ hands it to the engine;
 * the engine itself never includes this header.
 */
#ifndef TT_PROVIDERS_H
#define TT_PROVIDERS_H

#include "provider.h"

/* Every registered provider, NULL-terminated. */
extern const tt_provider *const tt_providers[];

/* The provider that handles `r`, or NULL when none does (yet). */
const tt_provider *tt_provider_for(const tt_resource *r);

#endif
