# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain-Python engine code of the addon, beside the models that call it
(house style: OCA queue_job). Nothing here is a model."""
