# The S3 objects' tests start moto's standalone S3 server on loopback (the
# `moto[server]` and boto3 pins of the dev extra, installed by
# `make install-dev`). Without them the tests fail here instead of skipping.
export ENACT_REQUIRE_S3=1
