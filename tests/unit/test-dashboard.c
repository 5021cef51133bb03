/* The Origin check of unsafe API requests (api_origin_allowed) and the
 * embedded console's files (docs/dashboard.md). */
#include "test.h"

#include <string.h>

#include "api/dashboard.h"

TEST(origin_check)
{
        /* clients without Origin: the docker CLI, docker-py, compose */
        ASSERT_TRUE(api_origin_allowed("POST", NULL, "docker", false));
        ASSERT_TRUE(api_origin_allowed("DELETE", NULL, NULL, true));
        /* safe methods are never refused */
        ASSERT_TRUE(api_origin_allowed("GET", "http://evil.example", "127.0.0.1:2375", false));
        ASSERT_TRUE(api_origin_allowed("HEAD", "http://evil.example", "127.0.0.1:2375", false));
        /* same origin, scheme by listener */
        ASSERT_TRUE(api_origin_allowed("POST", "http://127.0.0.1:2375", "127.0.0.1:2375", false));
        ASSERT_TRUE(api_origin_allowed("POST", "https://Host.Example:2376", "host.example:2376", true));
        /* cross-site */
        ASSERT_TRUE(!api_origin_allowed("POST", "http://evil.example", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("PUT", "null", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("DELETE", "", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "https://127.0.0.1:2375", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://127.0.0.1:2375", "127.0.0.1:2375", true));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://127.0.0.1:23750", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://127.0.0.1:2375.evil.example", "127.0.0.1:2375", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://127.0.0.1:2375", NULL, false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://", "", false));
        /* DNS rebinding: a name is same-origin only on TLS, where the certificate names the host */
        ASSERT_TRUE(!api_origin_allowed("POST", "http://evil.example:2375", "evil.example:2375", false));
        ASSERT_TRUE(api_origin_allowed("POST", "https://evil.example:2376", "evil.example:2376", true));
        ASSERT_TRUE(api_origin_allowed("POST", "http://localhost:8080", "localhost:8080", false));
        ASSERT_TRUE(api_origin_allowed("POST", "http://[::1]:2375", "[::1]:2375", false));
        ASSERT_TRUE(api_origin_allowed("POST", "http://10.0.0.5", "10.0.0.5", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://[::1", "[::1", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://[::1]x", "[::1]x", false));
        ASSERT_TRUE(!api_origin_allowed("POST", "http://127.0.0.1.evil.example", "127.0.0.1.evil.example", false));
}

TEST(assets_embedded)
{
        const char *want[] = { "index.html", "app.js", "style.css" };
        for (size_t i = 0; i < 3; i++) {
                const DashboardAsset *found = NULL;
                for (const DashboardAsset *a = dashboard_assets; a->name; a++)
                        if (strcmp(a->name, want[i]) == 0)
                                found = a;
                ASSERT_TRUE(found != NULL);
                ASSERT_TRUE(found->len > 100);
                ASSERT_TRUE(found->etag[0] == '"' && strlen(found->etag) == 34);
        }
}

TEST_MAIN
