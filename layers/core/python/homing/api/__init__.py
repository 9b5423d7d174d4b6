"""Pinpoint's REST API edge. Powertools' re-exporting packages are loaded narrowly (see lazy_package)."""

from homing.lazy_package import defer_package_init

defer_package_init("aws_lambda_powertools.event_handler")
defer_package_init("aws_lambda_powertools.utilities.data_classes")
