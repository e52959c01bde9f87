"""(being written)"""

from litestar.types import ControllerRouterHandler

ROUTES: list[ControllerRouterHandler] = []
