/* berth's version, for every module that reports it (User-Agent, image docker_version, /version). */
#pragma once

#define BERTH_VERSION "0.1.0"
