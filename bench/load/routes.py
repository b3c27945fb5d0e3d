"""The route names a load run reports under (its route templates), and which of them the
goal judges."""

BROWSE, SEARCH, PAGE = "GET /v1/models (browse)", "GET /v1/models (search)", "GET /v1/models/{id}"
VERSIONS, INFER = "GET /v1/models/{id}/versions", "POST /v1/models/{id}/infer"
INFER_PAID = "POST /v1/models/{id}/infer (paid model)"  # apart: its 402s are no baseline's
CATALOGUE_ROUTES = (BROWSE, SEARCH, PAGE, VERSIONS)
INFERENCE_ROUTES = (INFER,)
