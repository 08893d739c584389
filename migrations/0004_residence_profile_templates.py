from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import ClimateRegion, CoolingSystem, HeatingSystem, MediaPurpose, ResidenceType, RoofType, WaterHeaterType
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0003_member_removals')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Media',
            name='purpose',
            field=fields.CharEnumField(description='AVATAR: AVATAR\nCOMPLETION_PHOTO: COMPLETION_PHOTO\nDOCUMENT_FILE: DOCUMENT_FILE\nRESIDENCE_PHOTO: RESIDENCE_PHOTO', enum_type=MediaPurpose, max_length=24),
        ),
        ops.AddField(
            model_name='Residence',
            name='climate_region',
            field=fields.CharEnumField(null=True, description='COLD: COLD\nMIXED: MIXED\nHOT_HUMID: HOT_HUMID\nHOT_DRY: HOT_DRY\nMARINE: MARINE\nTROPICAL: TROPICAL', enum_type=ClimateRegion, max_length=16),
        ),
        ops.AddField(
            model_name='Residence',
            name='cooling',
            field=fields.CharEnumField(null=True, description='CENTRAL_AC: CENTRAL_AC\nHEAT_PUMP: HEAT_PUMP\nWINDOW_UNITS: WINDOW_UNITS\nMINI_SPLIT: MINI_SPLIT\nEVAPORATIVE: EVAPORATIVE\nNONE: NONE\nOTHER: OTHER', enum_type=CoolingSystem, max_length=24),
        ),
        ops.AddField(
            model_name='Residence',
            name='has_basement',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='has_fireplace',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='has_pool',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='has_septic',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='has_sprinklers',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='heating',
            field=fields.CharEnumField(null=True, description='FORCED_AIR_GAS: FORCED_AIR_GAS\nHEAT_PUMP: HEAT_PUMP\nBOILER: BOILER\nELECTRIC_BASEBOARD: ELECTRIC_BASEBOARD\nRADIANT: RADIANT\nWOOD_STOVE: WOOD_STOVE\nNONE: NONE\nOTHER: OTHER', enum_type=HeatingSystem, max_length=24),
        ),
        ops.AddField(
            model_name='Residence',
            name='photo_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='Residence',
            name='roof',
            field=fields.CharEnumField(null=True, description='ASPHALT_SHINGLE: ASPHALT_SHINGLE\nMETAL: METAL\nTILE: TILE\nSLATE: SLATE\nWOOD_SHAKE: WOOD_SHAKE\nFLAT_MEMBRANE: FLAT_MEMBRANE\nNONE: NONE\nOTHER: OTHER', enum_type=RoofType, max_length=24),
        ),
        ops.AddField(
            model_name='Residence',
            name='type',
            field=fields.CharEnumField(default=ResidenceType.HOUSE, db_default=ResidenceType.HOUSE, description='HOUSE: HOUSE\nAPARTMENT: APARTMENT\nCONDO: CONDO\nTOWNHOUSE: TOWNHOUSE\nMOBILE_HOME: MOBILE_HOME\nCABIN: CABIN\nOTHER: OTHER', enum_type=ResidenceType, max_length=16),
        ),
        ops.AddField(
            model_name='Residence',
            name='water_heater',
            field=fields.CharEnumField(null=True, description='TANK_GAS: TANK_GAS\nTANK_ELECTRIC: TANK_ELECTRIC\nTANKLESS_GAS: TANKLESS_GAS\nTANKLESS_ELECTRIC: TANKLESS_ELECTRIC\nHEAT_PUMP: HEAT_PUMP\nSOLAR: SOLAR\nNONE: NONE\nOTHER: OTHER', enum_type=WaterHeaterType, max_length=24),
        ),
        ops.AddField(
            model_name='Residence',
            name='year_built',
            field=fields.SmallIntField(null=True),
        ),
        ops.AddField(
            model_name='Task',
            name='template_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddIndex(
            model_name='Task',
            index=Index(fields=['residence_id', 'template_id']),
        ),
    ]
